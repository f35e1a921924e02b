//etcdkit:needs Maintenance.Downgrade

package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Downgrading a cluster (etcd 3.6 and later; 3.5 has the call but no older minor version to
// go to, 3.4 answers ErrNotSupported): validate the target, enable the downgrade, then restart
// each member with the older binary; the cluster version drops to the target once every
// member runs it. The target is the minor version one below the cluster's ("3.6" or "3.6.0"
// on a 3.7 cluster): the server refuses any other with ErrInvalidArgument ("etcdserver:
// invalid downgrade target version", "etcdserver: wrong downgrade target version format"),
// and a second enable with "etcdserver: cluster has a downgrade job in progress".

// DowngradeResult is the answer to a downgrade call: the cluster's version when it was made
// ("3.7": major and minor only) and the response header.
type DowngradeResult struct {
	ClusterVersion string // the cluster's version before the call ("3.7")
	Header         Header // the response's header
}

// DowngradeValidate checks that the cluster can downgrade to version, changing nothing.
func (c *Client) DowngradeValidate(ctx context.Context, version string) (DowngradeResult, error) {
	return c.downgrade(ctx, "downgrade validate", etcdserverpb.DowngradeRequest_VALIDATE, version)
}

// DowngradeEnable starts a downgrade of the cluster to version.
func (c *Client) DowngradeEnable(ctx context.Context, version string) (DowngradeResult, error) {
	return c.downgrade(ctx, "downgrade enable", etcdserverpb.DowngradeRequest_ENABLE, version)
}

// DowngradeCancel cancels the cluster's downgrade. etcd answers it successfully also when no
// downgrade is under way.
func (c *Client) DowngradeCancel(ctx context.Context) (DowngradeResult, error) {
	return c.downgrade(ctx, "downgrade cancel", etcdserverpb.DowngradeRequest_CANCEL, "")
}

// downgrade makes one Downgrade call, named op in errors.
func (c *Client) downgrade(ctx context.Context, op string, action etcdserverpb.DowngradeRequest_DowngradeAction, version string) (DowngradeResult, error) {
	if err := c.check(op, version); err != nil {
		return DowngradeResult{}, err
	}
	if version == "" && action != etcdserverpb.DowngradeRequest_CANCEL {
		return DowngradeResult{}, &Error{Op: op, Err: wrapArg("empty target version")}
	}
	resp, err := etcdserverpb.NewMaintenanceClient(c.conn).Downgrade(ctx, &etcdserverpb.DowngradeRequest{Action: action, Version: version})
	if err != nil {
		return DowngradeResult{}, opError(op, version, err)
	}
	return DowngradeResult{ClusterVersion: resp.GetVersion(), Header: header(resp.GetHeader())}, nil
}
