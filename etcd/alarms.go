//etcdkit:needs Maintenance.Alarm

package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Alarm is a raised cluster alarm: a member ran out of space (AlarmType "NOSPACE") or found
// its data corrupt ("CORRUPT").
type Alarm struct {
	MemberID uint64 // the member that raised it
	Type     string
}

// AlarmList lists the cluster's raised alarms, none meaning healthy storage, with the response's
// header.
func (c *Client) AlarmList(ctx context.Context) ([]Alarm, Header, error) {
	if err := c.check("alarm list", ""); err != nil {
		return nil, Header{}, err
	}
	resp, err := etcdserverpb.NewMaintenanceClient(c.conn).Alarm(ctx, &etcdserverpb.AlarmRequest{Action: etcdserverpb.AlarmRequest_GET})
	if err != nil {
		return nil, Header{}, opError("alarm list", "", err)
	}
	alarms := make([]Alarm, len(resp.GetAlarms()))
	for i, a := range resp.GetAlarms() {
		alarms[i] = Alarm{MemberID: a.GetMemberID(), Type: a.GetAlarm().String()}
	}
	return alarms, header(resp.GetHeader()), nil
}
