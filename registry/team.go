package registry

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/tenancy"
)

// ExperienceLevel is a team member's seniority.
type ExperienceLevel string

// The experience levels, in increasing order of seniority.
const (
	Junior    ExperienceLevel = "junior"
	Mid       ExperienceLevel = "mid"
	Senior    ExperienceLevel = "senior"
	Principal ExperienceLevel = "principal"
)

// Rank returns 1 (junior) to 4 (principal), or 0 for an unknown level.
func (l ExperienceLevel) Rank() int {
	switch l {
	case Junior:
		return 1
	case Mid:
		return 2
	case Senior:
		return 3
	case Principal:
		return 4
	}
	return 0
}

// Valid reports whether l is one of the experience levels.
func (l ExperienceLevel) Valid() bool { return l.Rank() > 0 }

// TeamMember is a person who worked on a project.
type TeamMember struct {
	tenancy.Model
	ID                string          `gorm:"column:id;primaryKey" json:"id"`
	ProjectID         string          `gorm:"column:project_id" json:"project_id"`
	Name              string          `gorm:"column:name" json:"name"`
	Role              string          `gorm:"column:role" json:"role"`
	ExperienceLevel   ExperienceLevel `gorm:"column:experience_level" json:"experience_level"`
	ContributionHours float64         `gorm:"column:contribution_hours" json:"contribution_hours"`
	CreatedAt         time.Time       `gorm:"column:created_at" json:"created_at"`
}

// TableName implements gorm's Tabler.
func (TeamMember) TableName() string { return "team_members" }

// TeamMemberInput is what AddTeamMember needs. Role is free text such as
// "data_scientist" or "ml_engineer" (required, at most MaxNameLength);
// ContributionHours is optional and must be >= 0.
type TeamMemberInput struct {
	Name              string          `json:"name"`
	Role              string          `json:"role"`
	ExperienceLevel   ExperienceLevel `json:"experience_level"`
	ContributionHours float64         `json:"contribution_hours,omitempty"`
}

// MaxTeamMembers is the most members a project's team can have. It bounds
// ListTeamMembers, which therefore returns the whole team, not a page.
const MaxTeamMembers = 1000

// AddTeamMember adds a member to a project's team. A team that already has
// MaxTeamMembers members refuses another with a *TooLargeError
// (ErrTooLarge).
func (r *Registry) AddTeamMember(ctx context.Context, projectID string, in TeamMemberInput) (*TeamMember, error) {
	var v validator
	name := checkName(&v, "name", in.Name)
	role := checkName(&v, "role", in.Role)
	v.check(in.ExperienceLevel.Valid(), "experience_level", "must be junior, mid, senior or principal")
	v.check(finite(in.ContributionHours) && in.ContributionHours >= 0 && in.ContributionHours <= 1e6,
		"contribution_hours", "must be a number from 0 to 1000000")
	if err := v.err(); err != nil {
		return nil, err
	}
	m := &TeamMember{ID: newID(), ProjectID: projectID, Name: name, Role: role,
		ExperienceLevel: in.ExperienceLevel, ContributionHours: in.ContributionHours, CreatedAt: r.timestamp()}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		// Locking the project row serialises concurrent additions, so
		// that the count below stays true until the commit.
		if _, err := getProject(tx.Clauses(clause.Locking{Strength: "UPDATE"}), projectID); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&TeamMember{}).Where("project_id = ?", projectID).Count(&n).Error; err != nil {
			return dbErr(err, "team members")
		}
		if n >= r.maxTeam {
			return &TooLargeError{What: "team", Limit: r.maxTeam, Got: n + 1}
		}
		return dbErr(tx.Create(m).Error, "team member")
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ListTeamMembers returns a project's whole team in the order members
// were added. It is not paged: a team has at most MaxTeamMembers members.
func (r *Registry) ListTeamMembers(ctx context.Context, projectID string) ([]TeamMember, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := getProject(db, projectID); err != nil {
		return nil, err
	}
	out := []TeamMember{}
	if err := db.Where("project_id = ?", projectID).Order("id").Find(&out).Error; err != nil {
		return nil, dbErr(err, "team members")
	}
	return out, nil
}

// RemoveTeamMember removes a member from a project's team.
func (r *Registry) RemoveTeamMember(ctx context.Context, projectID, memberID string) error {
	db, err := r.dbc(ctx)
	if err != nil {
		return err
	}
	if !validID(memberID) {
		return notFound("team member", memberID)
	}
	res := db.Where("id = ? AND project_id = ?", memberID, projectID).Delete(&TeamMember{})
	if res.Error != nil {
		return dbErr(res.Error, "team member")
	}
	if res.RowsAffected == 0 {
		return notFound("team member", memberID)
	}
	return nil
}
