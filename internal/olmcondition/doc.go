// Package olmcondition tells Operator Lifecycle Manager (OLM) whether the operator may be upgraded, through
// operator-lib's conditions package and the OperatorCondition OLM creates for the running CSV.
//
// OLM sets OPERATOR_CONDITION_NAME in the operator's Pods; when it is unset (Helm, dist/install.yaml, a local
// run) this package does nothing and makes no API call. It must not decide readiness or touch ServiceCheckers.
package olmcondition
