//go:build tools

// Package tools pins the operator-sdk command this module builds (see the Makefile's operator-sdk target).
package tools

import _ "github.com/operator-framework/operator-sdk/cmd/operator-sdk"
