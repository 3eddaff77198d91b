package platform

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// artifactJSON is the part of an artifact the tests look at.
type artifactJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	ContentSHA256  string   `json:"content_sha256"`
	SizeBytes      int64    `json:"size_bytes"`
	UsageCount     int64    `json:"usage_count"`
	AvgImpactScore *float64 `json:"avg_impact_score"`
	Tags           []string `json:"tags"`
}

func testArtifacts(t *testing.T, e *regEnv) {
	const lib = "/api/v1/artifacts"
	all := lib + "?limit=1000"
	aid := e.create(t, lib, e.member, map[string]any{"name": "text-cleaner", "type": "feature_pipeline",
		"version": "1.2.0", "description": "normalises free text", "tags": []string{"nlp", "text"}})
	other := e.create(t, lib, e.member, map[string]any{"name": "churn-schema", "type": "schema", "version": "3"})
	expect(t, e.do("POST", lib, e.member, map[string]any{"name": "text-cleaner", "type": "feature_pipeline", "version": "1.2.0"}), 409).problem(t)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "type": "spreadsheet", "version": "1"}, "type"},
		{map[string]any{"name": "x", "type": "dataset", "version": "not a version!"}, "version"},
		{map[string]any{"name": "", "type": "dataset", "version": "1"}, "name"},
	} {
		e.refused(t, "POST", lib, c.body, 422, c.field, all)
	}
	expect(t, e.do("POST", lib, e.viewer, map[string]any{"name": "v", "type": "dataset", "version": "1"}), 403)

	// Content round trip with SHA-256 and size.
	one := lib + "/" + aid
	expect(t, e.do("GET", one+"/content", e.viewer, nil), 404).problem(t)
	content := bytes.Repeat([]byte("maestro artifact \x00\xff bytes\n"), 4096)
	sum := sha256.Sum256(content)
	var a artifactJSON
	expect(t, e.do("PUT", one+"/content", e.member, content, "Content-Type", "application/octet-stream"), 200).json(t, &a)
	if a.ContentSHA256 != hex.EncodeToString(sum[:]) || a.SizeBytes != int64(len(content)) {
		t.Fatalf("uploaded %+v, want sha %x size %d", a, sum, len(content))
	}
	r := expect(t, e.do("GET", one+"/content", e.viewer, nil), 200)
	if !bytes.Equal(r.body, content) {
		t.Fatalf("downloaded %d bytes, want %d", len(r.body), len(content))
	}
	if r.header.Get("ETag") != `"`+a.ContentSHA256+`"` ||
		r.header.Get("Content-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" ||
		r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download headers %v", r.header)
	}
	r = expect(t, e.do("HEAD", one+"/content", e.viewer, nil), 200)
	if len(r.body) != 0 || r.header.Get("ETag") != `"`+a.ContentSHA256+`"` {
		t.Fatalf("HEAD: %d bytes, headers %v", len(r.body), r.header)
	}
	expect(t, e.do("PUT", one+"/content", e.viewer, "x"), 403)

	// Beyond the limit: 413, and the earlier content stays.
	e.s.reg.contentLimit.Store(1024)
	defer e.s.reg.contentLimit.Store(maxArtifactContent)
	e.refused(t, "PUT", one+"/content", bytes.Repeat([]byte("y"), 1025), 413, "", one, one+"/content")
	e.refused(t, "PUT", one+"/content", strings.Repeat("z", 4096), 413, "", one, one+"/content")
	expect(t, e.do("PUT", one+"/content", e.member, bytes.Repeat([]byte("y"), 1024)), 200)
	e.s.reg.contentLimit.Store(maxArtifactContent)
	expect(t, e.do("PUT", one+"/content", e.member, content), 200)

	// Usages maintain the count and the mean impact.
	p1 := e.create(t, "/api/v1/projects", e.member, projectBody("Uses cleaner 1", 3))
	p2 := e.create(t, "/api/v1/projects", e.member, projectBody("Uses cleaner 2", 3))
	usages := one + "/usages"
	e.create(t, usages, e.member, map[string]any{"project_id": p1, "impact_score": 80, "context": "tokenising"})
	e.create(t, usages, e.member, map[string]any{"project_id": p2, "impact_score": 60})
	expect(t, e.do("POST", usages, e.member, map[string]any{"project_id": p1, "impact_score": 10}), 409).problem(t)
	e.refused(t, "POST", usages, map[string]any{"project_id": p2, "impact_score": 101}, 422, "impact_score", one)
	e.refused(t, "POST", usages, map[string]any{"project_id": p2, "impact_score": -1}, 422, "impact_score", one)
	expect(t, e.do("POST", usages, e.viewer, map[string]any{"project_id": p1}), 403)
	e.getJSON(t, one, e.viewer, &a)
	if a.UsageCount != 2 || a.AvgImpactScore == nil || *a.AvgImpactScore != 70 {
		t.Fatalf("usage stats %+v", a)
	}
	if us := items[map[string]any](t, e.do("GET", usages, e.viewer, nil)); len(us) != 2 {
		t.Fatalf("usages %+v", us)
	}

	// Search and top list.
	for q, want := range map[string]string{
		"type=feature_pipeline": aid, "tag=nlp": aid, "q=CLEANER": aid, "min_impact=65": aid, "type=schema": other,
	} {
		list := items[artifactJSON](t, e.do("GET", lib+"?"+q, e.viewer, nil))
		if len(list) != 1 || list[0].ID != want {
			t.Fatalf("?%s: %+v", q, list)
		}
	}
	if list := items[artifactJSON](t, e.do("GET", lib+"?min_impact=75", e.viewer, nil)); len(list) != 0 {
		t.Fatalf("min_impact=75: %+v", list)
	}
	for _, q := range []string{"type=spreadsheet", "min_impact=abc", "min_impact=101", "min_impact=NaN"} {
		expect(t, e.do("GET", lib+"?"+q, e.viewer, nil), 400).problem(t)
	}
	top := items[artifactJSON](t, e.do("GET", lib+"/top?limit=5", e.viewer, nil))
	if len(top) != 1 || top[0].ID != aid {
		t.Fatalf("top %+v", top)
	}
	expect(t, e.do("GET", lib+"/top?type=bogus", e.viewer, nil), 400).problem(t)

	// Delete removes the artifact and its content.
	expect(t, e.do("DELETE", lib+"/"+other, e.viewer, nil), 403)
	expect(t, e.do("DELETE", lib+"/"+other, e.member, nil), 204)
	expect(t, e.do("GET", lib+"/"+other, e.viewer, nil), 404)
}

func testModels(t *testing.T, e *regEnv) {
	const models = "/api/v1/models"
	var m map[string]any
	expect(t, e.do("POST", models, e.member, map[string]any{"name": "churn", "description": "churn classifier"}), 201).json(t, &m)
	if m["name"] != "churn" || m["latest_version"] != float64(0) {
		t.Fatalf("model %+v", m)
	}
	expect(t, e.do("POST", models, e.member, map[string]any{"name": "churn"}), 409).problem(t)
	e.refused(t, "POST", models, map[string]any{"name": "a/b"}, 422, "name", models)
	expect(t, e.do("POST", models, e.viewer, map[string]any{"name": "v"}), 403)

	versions := models + "/churn/versions"
	for want := 1; want <= 2; want++ {
		var v map[string]any
		expect(t, e.do("POST", versions, e.member, map[string]any{"source": "s3://models/churn/" + string(rune('0'+want))}), 201).json(t, &v)
		if v["version"] != float64(want) {
			t.Fatalf("version %+v, want %d", v, want)
		}
	}
	e.refused(t, "POST", versions, map[string]any{"source": ""}, 422, "source", versions)
	before := e.snapshot(t, versions)
	if r := e.do("POST", versions, e.member, map[string]any{"source": "x", "run_id": "00000000-0000-0000-0000-000000000000"}); r.status != 404 && r.status != 422 {
		t.Fatalf("version with an unknown run: %d %s", r.status, r.body)
	}
	if e.snapshot(t, versions) != before {
		t.Fatal("a refused version changed the versions")
	}
	expect(t, e.do("POST", models+"/nope/versions", e.member, map[string]any{"source": "x"}), 404)
	if vs := items[map[string]any](t, e.do("GET", versions, e.viewer, nil)); len(vs) != 2 {
		t.Fatalf("versions %+v", vs)
	}
	var v map[string]any
	e.getJSON(t, versions+"/2", e.viewer, &v)
	if v["source"] != "s3://models/churn/2" {
		t.Fatalf("version 2 %+v", v)
	}
	expect(t, e.do("GET", versions+"/3", e.viewer, nil), 404)
	expect(t, e.do("GET", versions+"/x", e.viewer, nil), 404)

	// Aliases: set, move, refuse a missing version (422, unchanged), delete.
	alias := models + "/churn/aliases/champion"
	expect(t, e.do("PUT", alias, e.member, map[string]any{"version": 1}), 200)
	expect(t, e.do("PUT", alias, e.member, map[string]any{"version": 2}), 200)
	p := e.refused(t, "PUT", alias, map[string]any{"version": 9}, 422, "version", alias, models+"/churn/aliases")
	if p.Code != "validation_failed" {
		t.Fatalf("alias to a missing version: %+v", p)
	}
	e.refused(t, "PUT", alias, map[string]any{}, 422, "version", alias)
	e.refused(t, "PUT", alias, map[string]any{"version": "two"}, 422, "version", alias)
	expect(t, e.do("PUT", models+"/churn/aliases/bad%20alias!", e.member, map[string]any{"version": 1}), 422)
	expect(t, e.do("PUT", models+"/nope/aliases/champion", e.member, map[string]any{"version": 1}), 404)
	expect(t, e.do("PUT", alias, e.viewer, map[string]any{"version": 1}), 403)
	e.getJSON(t, alias, e.viewer, &v)
	if v["version"] != float64(2) || v["alias"] != "champion" {
		t.Fatalf("alias %+v", v)
	}
	if as := items[map[string]any](t, e.do("GET", models+"/churn/aliases", e.viewer, nil)); len(as) != 1 {
		t.Fatalf("aliases %+v", as)
	}
	if ms := items[map[string]any](t, e.do("GET", models, e.viewer, nil)); len(ms) != 1 {
		t.Fatalf("models %+v", ms)
	}
	e.getJSON(t, models+"/churn", e.viewer, &m)
	if m["latest_version"] != float64(2) {
		t.Fatalf("model %+v", m)
	}
	expect(t, e.do("DELETE", alias, e.viewer, nil), 403)
	expect(t, e.do("DELETE", alias, e.member, nil), 204)
	expect(t, e.do("GET", alias, e.viewer, nil), 404)
	expect(t, e.do("DELETE", alias, e.member, nil), 404)

	// Update and rename: versions and aliases follow the new name.
	expect(t, e.do("PUT", alias, e.member, map[string]any{"version": 2}), 200)
	expect(t, e.do("PATCH", models+"/churn", e.viewer, map[string]any{"description": "x"}), 403)
	expect(t, e.do("POST", models, e.member, map[string]any{"name": "taken"}), 201)
	expect(t, e.do("PATCH", models+"/churn", e.member, map[string]any{"name": "taken"}), 409).problem(t)
	e.refused(t, "PATCH", models+"/churn", map[string]any{"name": "a/b"}, 422, "name", models+"/churn")
	e.refused(t, "PATCH", models+"/churn", map[string]any{"description": 5}, 422, "description", models+"/churn")
	expect(t, e.do("PATCH", models+"/churn", e.member, map[string]any{"name": "churn2", "description": "renamed"}), 200).json(t, &m)
	if m["name"] != "churn2" || m["description"] != "renamed" || m["latest_version"] != float64(2) {
		t.Fatalf("renamed %+v", m)
	}
	expect(t, e.do("GET", models+"/churn", e.viewer, nil), 404)
	e.getJSON(t, models+"/churn2/aliases/champion", e.viewer, &v)
	if v["version"] != float64(2) {
		t.Fatalf("alias after rename %+v", v)
	}
	versions = models + "/churn2/versions"
	expect(t, e.do("PATCH", versions+"/1", e.member, map[string]any{"description": "first"}), 200).json(t, &v)
	if v["description"] != "first" || v["source"] != "s3://models/churn/1" {
		t.Fatalf("version update %+v", v)
	}
	expect(t, e.do("PATCH", versions+"/9", e.member, map[string]any{"description": "x"}), 404)
	expect(t, e.do("PATCH", versions+"/1", e.viewer, map[string]any{"description": "x"}), 403)

	// Tags and stages.
	var mt map[string]any
	expect(t, e.do("PUT", models+"/churn2/tags/team", e.member, map[string]any{"value": "risk"}), 200).json(t, &mt)
	if fmt.Sprint(mt["tags"]) != "map[team:risk]" {
		t.Fatalf("model tags %+v", mt)
	}
	expect(t, e.do("PUT", models+"/churn2/tags/team", e.viewer, map[string]any{"value": "x"}), 403)
	e.refused(t, "PUT", models+"/churn2/tags/team", map[string]any{}, 422, "value", models+"/churn2")
	e.refused(t, "PUT", models+"/churn2/tags/k", map[string]any{"value": strings.Repeat("x", 8001)}, 422, `tag["k"]`, models+"/churn2")
	expect(t, e.do("PUT", versions+"/1/tags/a/b", e.member, map[string]any{"value": "yes"}), 200).json(t, &v)
	if fmt.Sprint(v["tags"]) != "map[a/b:yes]" || v["stage"] != "None" {
		t.Fatalf("version tags %+v", v)
	}
	expect(t, e.do("PATCH", versions+"/1", e.member, map[string]any{"stage": "production"}), 200).json(t, &v)
	if v["stage"] != "Production" {
		t.Fatalf("stage %+v", v)
	}
	e.refused(t, "PATCH", versions+"/1", map[string]any{"stage": "shipping"}, 422, "stage", versions+"/1")
	expect(t, e.do("DELETE", versions+"/1/tags/a/b", e.member, nil), 204)
	expect(t, e.do("DELETE", versions+"/1/tags/a/b", e.member, nil), 404)
	expect(t, e.do("DELETE", models+"/churn2/tags/team", e.viewer, nil), 403)
	expect(t, e.do("DELETE", models+"/churn2/tags/team", e.member, nil), 204)
	expect(t, e.do("DELETE", models+"/churn2/tags/team", e.member, nil), 404)

	// A deleted version takes its aliases; its number is not given again.
	expect(t, e.do("DELETE", versions+"/2", e.viewer, nil), 403)
	expect(t, e.do("DELETE", versions+"/2", e.member, nil), 204)
	expect(t, e.do("DELETE", versions+"/2", e.member, nil), 404)
	expect(t, e.do("GET", models+"/churn2/aliases/champion", e.viewer, nil), 404)
	expect(t, e.do("POST", versions, e.member, map[string]any{"source": "s3://models/churn/3"}), 201).json(t, &v)
	if v["version"] != float64(3) {
		t.Fatalf("version after a delete %+v, want 3", v)
	}

	// Deleting the model deletes its versions and aliases; the name is free.
	expect(t, e.do("PUT", models+"/churn2/aliases/prod", e.member, map[string]any{"version": 3}), 200)
	expect(t, e.do("DELETE", models+"/churn2", e.viewer, nil), 403)
	expect(t, e.do("DELETE", models+"/churn2", e.member, nil), 204)
	expect(t, e.do("DELETE", models+"/churn2", e.member, nil), 404)
	expect(t, e.do("GET", versions, e.viewer, nil), 404)
	expect(t, e.do("POST", models, e.member, map[string]any{"name": "churn2"}), 201).json(t, &m)
	if m["latest_version"] != float64(0) {
		t.Fatalf("recreated %+v", m)
	}
	expect(t, e.do("POST", versions, e.member, map[string]any{"source": "s"}), 201).json(t, &v)
	if v["version"] != float64(1) {
		t.Fatalf("first version of the new model %+v", v)
	}
}
