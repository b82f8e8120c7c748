package console

import (
	"slices"
	"testing"
)

// An expert pool a directory sync ended (active=false) and a pool's
// ended members (inactive=true) are not offered (decision 032).
func TestPoolRowsLeaveOutEndedPoolsAndMembers(t *testing.T) {
	member := func(name string, inactive bool) any {
		m := obj{"entity": obj{"reference": "Practitioner/" + name, "display": name}}
		if inactive {
			m["inactive"] = true
		}
		return m
	}
	groups := []obj{
		{"id": "b", "name": "心内科会诊专家库", "active": true, "member": []any{member("张三", false), member("李四", true)}},
		{"id": "a", "name": "已撤销专家库", "active": false, "member": []any{member("王五", false)}},
		{"id": "c", "name": "儿科质控专家库", "member": []any{member("赵六", false)}},
	}
	rows := poolRows(groups)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"c", "b"}) {
		t.Fatalf("pools shown %v, want [c b] (the ended pool a left out, by name)", ids)
	}
	if len(rows[1].Members) != 1 {
		t.Errorf("pool b shows %d members, want 1 (李四's membership ended)", len(rows[1].Members))
	}
}
