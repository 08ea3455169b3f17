package olmcondition

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	apiv2 "github.com/operator-framework/api/pkg/operators/v2"
	"github.com/operator-framework/operator-lib/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// EnvConditionName is the variable OLM sets to the name of the operator's OperatorCondition.
const EnvConditionName = "OPERATOR_CONDITION_NAME"

// Reason and message of the Upgradeable condition. The manager keeps no state of its own (the ServiceCheckers'
// status is rebuilt from the cluster on every pass), so a new version can replace it at any moment.
const (
	ReasonUpgradeable  = "NoStateToMigrate"
	MessageUpgradeable = "the manager keeps no state of its own; a new version can replace it at any time"
)

// Upgradeable sets the Upgradeable condition once its replica becomes the leader, retrying until it succeeds or the
// manager stops. Failing to write it never stops the manager: OLM then treats the operator as upgradeable, its
// default. (Setup does fail when OLM named an OperatorCondition but the Pod's namespace cannot be read.)
type Upgradeable struct {
	Condition conditions.Condition
	Log       logr.Logger
	// Backoff between attempts; a zero value retries every 2 s to 1 min.
	Backoff wait.Backoff
}

// Start implements manager.Runnable.
func (r *Upgradeable) Start(ctx context.Context) error {
	backoff := r.Backoff
	if backoff.Steps == 0 {
		backoff = wait.Backoff{Duration: 2 * time.Second, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: time.Minute}
	}
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		err := r.Condition.Set(ctx, metav1.ConditionTrue,
			conditions.WithReason(ReasonUpgradeable), conditions.WithMessage(MessageUpgradeable))
		if err != nil {
			r.Log.Error(err, "cannot set the Upgradeable condition of the OperatorCondition; retrying",
				"env", EnvConditionName, "value", os.Getenv(EnvConditionName))
			return false, nil
		}
		r.Log.Info("set the OperatorCondition's Upgradeable condition", "status", metav1.ConditionTrue,
			"reason", ReasonUpgradeable)
		return true, nil
	})
	if err != nil && ctx.Err() == nil {
		r.Log.Error(err, "gave up setting the Upgradeable condition")
	}
	return nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: one writer per OperatorCondition is enough.
func (r *Upgradeable) NeedLeaderElection() bool { return true }

// Setup adds an Upgradeable reporter to the manager when OLM manages the operator (OPERATOR_CONDITION_NAME is set) and reports
// whether it did. It reads the OperatorCondition without the manager's cache: OLM grants the operator get, update
// and patch on that one object, not the list and watch an informer needs.
func Setup(mgr ctrl.Manager) (bool, error) {
	r, err := New(mgr)
	if err != nil || r == nil {
		return false, err
	}
	if err := mgr.Add(r); err != nil {
		return false, fmt.Errorf("add the OLM condition reporter: %w", err)
	}
	return true, nil
}

// New returns the Upgradeable reporter when OLM manages the operator (OPERATOR_CONDITION_NAME is set), else nil;
// the caller runs its Start on the leader only.
func New(mgr ctrl.Manager) (*Upgradeable, error) {
	if os.Getenv(EnvConditionName) == "" {
		return nil, nil
	}
	c, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("create the OperatorCondition client: %w", err)
	}
	cond, err := conditions.InClusterFactory{Client: c}.NewCondition(apiv2.ConditionType(apiv2.Upgradeable))
	if err != nil {
		return nil, fmt.Errorf("find the OperatorCondition named by %s=%q (OLM sets it, and the namespace comes "+
			"from the Pod's service account; unset it outside OLM): %w", EnvConditionName, os.Getenv(EnvConditionName), err)
	}
	return &Upgradeable{Condition: cond, Log: mgr.GetLogger().WithName("olm-condition")}, nil
}
