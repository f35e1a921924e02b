//etcdkit:needs Cluster.MemberList,Maintenance.Status,Maintenance.Alarm

package etcd

import "context"

// This file lets the client ask endpoints for their status (see memberStatus in
// endpoints.go); copies of the kit without Maintenance.Status do without it.
func init() {
	memberStatus = func(ctx context.Context, c *Client, endpoint string) (uint64, uint64, string, error) {
		st, err := c.Status(ctx, endpoint)
		return st.Header.ClusterID, st.Header.MemberID, st.Version, err
	}
}
