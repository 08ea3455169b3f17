// Package selection is the one definition of "which Services, as judged by which ServiceCheckers" that the HTTP
// API's query parameters and mwmctl's flags share: its parsing from a query (with errors naming the parameter),
// its encoding back into a query (mwmctl sends its flags to the API this way), and the per-entry test.
//
// It only describes a selection; applying it to ServiceChecker verdicts is the snapshot package's job.
package selection
