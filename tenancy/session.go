package tenancy

import (
	"gorm.io/gorm"
)

const ownTxKey = "maestro:tenancy:own_tx"

// setTenantSQL sets the tenant (or the cross-tenant flag) for the current
// transaction only: the third argument of set_config, is_local, makes the
// setting vanish at COMMIT or ROLLBACK, so a pooled connection never
// carries it into other work.
const setTenantSQL = "SELECT set_config('maestro.tenant_id', $1, true), set_config('maestro.cross_tenant', $2, true)"

// setTenant makes sure the statement runs in a transaction and sets the
// tenant in it for PostgreSQL's row-level security policies.
func (p *Plugin) setTenant(db *gorm.DB, sc *stmtScope) {
	st := db.Statement
	if _, inTx := st.ConnPool.(gorm.TxCommitter); !inTx {
		if sc.op == OpRow {
			p.fail(db, sc, st.Table, ErrTransactionRequired)
			return
		}
		tx := db.Begin()
		if tx.Error != nil {
			_ = db.AddError(tx.Error)
			return
		}
		st.ConnPool = tx.Statement.ConnPool
		db.InstanceSet(ownTxKey, true)
	}
	cross := "off"
	if sc.cross {
		cross = "on"
	}
	if _, err := st.ConnPool.ExecContext(st.Context, setTenantSQL, sc.tenant, cross); err != nil {
		_ = db.AddError(err)
	}
}

// end commits (or, after an error, rolls back) the transaction setTenant
// began for a statement outside one.
func (p *Plugin) end(db *gorm.DB) {
	if !p.rls {
		return
	}
	if v, ok := db.InstanceGet(ownTxKey); !ok || v != true {
		return
	}
	if db.Error != nil {
		db.Rollback()
	} else {
		db.Commit()
	}
	db.Statement.ConnPool = db.ConnPool
}
