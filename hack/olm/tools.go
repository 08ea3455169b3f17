//go:build tools

// Package tools pins the OLM commands this module builds (see the Makefile's olm target).
package tools

import (
	_ "github.com/operator-framework/operator-lifecycle-manager/cmd/catalog"
	_ "github.com/operator-framework/operator-lifecycle-manager/cmd/olm"
)
