package controller

// The manager's permissions on MaintenanceWindows (issue #16): it reads them and writes their status. `make
// manifests` generates config/rbac/role.yaml from these markers; the chart's templates/rbac.yaml follows by hand.

// +kubebuilder:rbac:groups=maintenance.mamrezb.com,resources=maintenancewindows,verbs=get;list;watch
// +kubebuilder:rbac:groups=maintenance.mamrezb.com,resources=maintenancewindows/status,verbs=get;update
