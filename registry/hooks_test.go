package registry

import (
	"errors"
	"testing"

	"gorm.io/gorm"
)

// TestTransactionJoinsRegistryWrites checks that the writes of a Registry
// bound by Transaction commit and roll back with the caller's own writes.
func TestTransactionJoinsRegistryWrites(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		in := ProjectInput{Name: "p", ProblemClass: Classification, ComplexityScore: 3, TeamSize: 2, Tags: []string{"x"}}
		boom := errors.New("boom")
		var rolledBack string
		err := e.reg.Transaction(e.a, func(tx *gorm.DB, reg *Registry) error {
			p, err := reg.CreateProject(e.a, in)
			if err != nil {
				return err
			}
			rolledBack = p.ID
			if _, err := reg.GetProject(e.a, p.ID); err != nil { // visible inside
				t.Errorf("inside the transaction: %v", err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transaction = %v", err)
		}
		if _, err := e.reg.GetProject(e.a, rolledBack); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rolled-back project: %v", err)
		}
		if n := countRows(t, e, e.a, &projectTag{}); n != 0 {
			t.Fatalf("%d tags left by the rolled-back project", n)
		}

		var kept *Project
		err = e.reg.Transaction(e.a, func(tx *gorm.DB, reg *Registry) error {
			var err error
			if kept, err = reg.CreateProject(e.a, in); err != nil {
				return err
			}
			// A failing registry write inside rolls back to its savepoint
			// only; the caller decides about the transaction.
			if err := reg.DeleteProject(e.a, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
				t.Errorf("delete of an unknown project: %v", err)
			}
			_, err = reg.UpdateProject(e.a, kept.ID, ProjectPatch{Description: ptr("d")})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.reg.GetProject(e.a, kept.ID)
		if err != nil || got.Description != "d" {
			t.Fatalf("committed project = %+v, %v", got, err)
		}
		if _, err := e.reg.GetProject(e.b, kept.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant sees the project: %v", err)
		}
	})
}
