//etcdkit:needs Maintenance.Downgrade,Maintenance.Status

package etcd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestDowngrade validates a downgrade to the previous minor version, refuses bad targets,
// enables one (seen in every member's status), refuses a second, and cancels it.
func TestDowngrade(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	if !versionAtLeast(cl.Version, 3, 5, 0) {
		if _, err := c.DowngradeValidate(ctx, "3.3"); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("DowngradeValidate on %s = %v, want ErrNotSupported", cl.Version, err)
		}
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(cl.Version, "v"), ".", 3)
	minor, _ := strconv.Atoi(parts[1])
	current := fmt.Sprintf("%s.%d", parts[0], minor)
	target := fmt.Sprintf("%s.%d", parts[0], minor-1)

	for _, bad := range []string{current, "v" + target, "x", fmt.Sprintf("%s.%d", parts[0], minor-2)} {
		if _, err := c.DowngradeValidate(ctx, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("DowngradeValidate(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	if _, err := c.DowngradeEnable(ctx, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("DowngradeEnable(\"\") = %v, want ErrInvalidArgument", err)
	}
	if !versionAtLeast(cl.Version, 3, 6, 0) {
		return // 3.5 has no older minor version that supports downgrades
	}

	res, err := c.DowngradeValidate(ctx, target)
	if err != nil || res.ClusterVersion != current || res.Header.ClusterID == 0 {
		t.Fatalf("DowngradeValidate(%q) = %+v, %v; want cluster version %s", target, res, err, current)
	}
	if res, err = c.DowngradeEnable(ctx, target); err != nil || res.ClusterVersion != current {
		t.Fatalf("DowngradeEnable(%q) = %+v, %v", target, res, err)
	}
	st, err := c.Status(ctx, cl.Endpoints()[0])
	if err != nil || st.Downgrade == nil || !st.Downgrade.Enabled || st.Downgrade.TargetVersion != target+".0" {
		t.Errorf("status after enable: %+v, %v; want a downgrade to %s.0 enabled", st.Downgrade, err, target)
	}
	if _, err := c.DowngradeEnable(ctx, target); err == nil || !strings.Contains(err.Error(), "downgrade job in progress") {
		t.Errorf("a second DowngradeEnable = %v, want a downgrade in progress", err)
	}
	if res, err = c.DowngradeCancel(ctx); err != nil || res.ClusterVersion != current {
		t.Fatalf("DowngradeCancel = %+v, %v", res, err)
	}
	st, err = c.Status(ctx, cl.Endpoints()[0])
	if err != nil || st.Downgrade == nil || st.Downgrade.Enabled {
		t.Errorf("status after cancel: %+v, %v; want no downgrade enabled", st.Downgrade, err)
	}
	c.Close()
	if _, err := c.DowngradeCancel(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("DowngradeCancel on a closed client = %v, want ErrClosed", err)
	}
}
