// Command mwmctl shows and follows the maintenance state of the Services watched by Maintenance Window Manager,
// from its HTTP API or from the cluster. Installed as kubectl-mwm it is also `kubectl mwm`.
package main

import "github.com/mamrezb/maintenance-window-manager/internal/cli"

func main() {
	cli.Main()
}
