package platform

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// chromiumPath finds Debian's chromium. Without it the browser tests
// skip, unless MAESTRO_REQUIRE_SERVICES makes them mandatory (CI installs
// it with .ci/chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("MAESTRO_CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MAESTRO_REQUIRE_SERVICES") != "" {
		t.Fatal("chromium is required (MAESTRO_REQUIRE_SERVICES is set) but not installed: apt-get install -y chromium")
	}
	t.Skip("skipping the browser tests: chromium is not installed (apt-get install -y chromium, or set MAESTRO_CHROMIUM)")
	return ""
}

// browser is a headless chromium driven by chromedp, collecting every
// console error, uncaught exception and browser log error (CSP violations
// and failed loads are reported there).
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // directory of the screenshots

	mu     sync.Mutex
	errors []string
}

// newBrowser starts chromium with a fresh profile for the test.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, shot: os.Getenv("MAESTRO_SCREENSHOT_DIR")}
	if b.shot == "" {
		b.shot = t.TempDir()
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.note(m.String())
			}
		}
	}()
	return b
}

func (b *browser) note(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, s)
}

// consoleErrors returns and forgets the errors seen so far.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// run runs actions, failing the test on error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to path and checks that the page raised no console
// error.
func (b *browser) open(path string) {
	b.t.Helper()
	b.submit("open "+path, chromedp.Navigate(b.base+path))
	b.noErrors(path)
}

// noErrors fails the test if the page logged errors.
func (b *browser) noErrors(where string) {
	b.t.Helper()
	// Give late events (a blocked resource) a moment to arrive.
	time.Sleep(50 * time.Millisecond)
	if errs := b.consoleErrors(); len(errs) > 0 {
		b.t.Errorf("%s: console errors:\n%s", where, strings.Join(errs, "\n"))
	}
}

// text returns the text of the first node matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// count returns how many nodes match the CSS selector.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return get(b, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}

// screenshot saves the full page as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(b.shot, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// submit runs steps that navigate (a click on a link or a submit button)
// and waits for the new page; it returns the page's HTTP status.
func (b *browser) submit(what string, steps ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return int(res.Status)
}

// get runs an action that returns a value, failing the test on error.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitFor waits up to 30 seconds until the JavaScript expression cond is
// true on the current page, across the navigations the page's script
// makes (an evaluation during one fails and is tried again).
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
	}
	b.t.Fatalf("%s: still not %s at %s", what, cond, get(b, "location", chromedp.Location()))
}

// signIn signs in through the form; tenant is chosen when asked.
func (b *browser) signIn(username, password, tenant string) {
	b.t.Helper()
	b.open("/login")
	b.run("fill the sign-in form",
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.submit("sign in as "+username, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	if tenant != "" {
		b.run("choose tenant "+tenant,
			chromedp.WaitVisible(chromedp.CSS("#tenant")),
			chromedp.SetValue(chromedp.CSS("#tenant"), tenant),
			chromedp.SendKeys(chromedp.CSS("#password"), password))
		b.submit("sign in to "+tenant, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	}
	if b.count(`[data-testid=current-user]`) == 0 {
		b.t.Fatalf("sign-in of %s failed at %s: %s", username, get(b, "location", chromedp.Location()),
			get(b, "page", chromedp.Text(chromedp.CSS("main"))))
	}
	if got := b.text(`[data-testid=current-user]`); got != username {
		b.t.Fatalf("signed in as %q, want %q", got, username)
	}
	b.noErrors("sign-in of " + username)
}

// signOut presses the sign-out button.
func (b *browser) signOut() {
	b.t.Helper()
	b.submit("sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)))
	if b.count("#username") != 1 {
		b.t.Fatal("signing out did not lead to the sign-in form")
	}
}

// TestDashboardInBrowser drives the dashboard in headless chromium: sign
// in (with the tenant choice), create a project, see runs logged through
// the API as curves, train a meta-model, ask for a recommendation, store a
// prediction; a viewer sees no write controls and is refused a forged
// write; another tenant's ids show the 404 page; no page logs a console
// error (CSP violations included); the layout fits a phone's width.
func TestDashboardInBrowser(t *testing.T) {
	chromiumPath(t) // skip early, before the server starts
	t.Parallel()
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{})
	seedHistory(t, e, e.member, 24)
	home := e.me(e.admin).Tenant.ID
	beta := e.me(e.other).Tenant.ID
	e.addMember(e.admin, home, "erin", memberPassword, "viewer")
	e.addMember(e.admin, beta, "erin", "", "member")
	betaProject := e.create(t, "/api/v1/projects", e.other, projectBody("Beta secret", 3))
	betaExp := e.create(t, "/api/v1/projects/"+betaProject+"/experiments", e.other, map[string]any{"name": "beta-exp"})

	b := newBrowser(t, e.url)

	// Signing in: a page behind the session sends the browser to the form.
	b.open("/projects")
	if b.count("#username") != 1 {
		t.Fatal("an anonymous visit of /projects did not show the sign-in form")
	}
	b.screenshot("01-sign-in")
	b.signIn("alice", memberPassword, "")
	if got := b.text(`[data-testid=current-tenant]`); !strings.Contains(got, "Default") || !strings.Contains(got, "member") {
		t.Fatalf("current tenant %q", got)
	}

	// Projects: the list, a search, a new project with markup in its name.
	b.open("/projects")
	if n := b.count(`[data-testid=projects-table] tbody tr`); n != 24 {
		t.Fatalf("%d projects listed, want 24", n)
	}
	b.open("/projects?q=History+7")
	if n := b.count(`[data-testid=projects-table] tbody tr`); n != 1 {
		t.Fatalf("search: %d rows, want 1", n)
	}
	b.open("/projects?q=nothing-like-this")
	if b.count(`[data-testid=empty]`) != 1 {
		t.Fatal("no empty state for a search without results")
	}
	name := `Churn <img src=x onerror=alert(1)> model`
	b.open("/projects/new")
	b.run("fill the project form",
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SetValue(chromedp.CSS("#problem_class"), "classification"),
		chromedp.SetValue(chromedp.CSS("#complexity_score"), "6"),
		chromedp.SetValue(chromedp.CSS("#team_size"), "4"),
		chromedp.SendKeys(chromedp.CSS("#description"), "Predict which customers cancel their subscription"),
		chromedp.SendKeys(chromedp.CSS("#tags"), "churn, retention"),
		chromedp.SendKeys(chromedp.CSS("#user_stories"), "As an analyst I see the customers at risk\nAs a manager I get a weekly list"))
	if st := b.submit("create the project", chromedp.Click(chromedp.CSS(`[data-testid=save-project]`))); st != 200 {
		t.Fatalf("creating a project led to a %d page", st)
	}
	b.noErrors("project created")
	if got := b.text(`[data-testid=project-name]`); got != name {
		t.Fatalf("project name shown as %q, want the text %q", got, name)
	}
	if b.count(`h1 img`) != 0 {
		t.Fatal("markup in a project's name was rendered as HTML")
	}
	loc := get(b, "location", chromedp.Location())
	projectID := loc[strings.LastIndex(loc, "/")+1:]
	if b.count(`[data-testid=similar] li`) == 0 {
		t.Error("no similar past projects shown for the new project")
	}
	// Edit it: the form holds the stored values; the change shows.
	b.submit("edit", chromedp.Click(chromedp.CSS(`[data-testid=edit-project]`)))
	shown := get(b, "form value", chromedp.Value(chromedp.CSS("#name")))
	if shown != name {
		t.Fatalf("edit form shows %q", shown)
	}
	b.run("rename", chromedp.SetValue(chromedp.CSS("#name"), "Churn model"))
	b.submit("save", chromedp.Click(chromedp.CSS(`[data-testid=save-project]`)))
	if got := b.text(`[data-testid=project-name]`); got != "Churn model" {
		t.Fatalf("after the edit the name is %q", got)
	}

	// The overview: projects by status and per month, the newest ones,
	// the server's health.
	b.open("/")
	if got := b.text(`[data-testid=by-status]`); !strings.Contains(got, "completed") || !strings.Contains(got, "24") {
		t.Fatalf("projects by status read %q, want the 24 completed", got)
	}
	if n := b.count(`[data-testid=by-month] li`); n != 12 {
		t.Fatalf("%d months on the overview, want 12", n)
	}
	if got := b.text(`[data-testid=recent] li:first-child`); !strings.Contains(got, "Churn model") {
		t.Fatalf("the newest project reads %q", got)
	}
	if got := b.text(`[data-testid=health]`); !strings.Contains(got, "database: ok") {
		t.Fatalf("health reads %q", got)
	}
	b.screenshot("00-overview")

	// Runs logged through the API appear side by side with their curves.
	exp := e.create(t, "/api/v1/projects/"+projectID+"/experiments", e.member, map[string]any{"name": "learning-rate sweep"})
	for i, lr := range []string{"0.1", "0.01", "0.001"} {
		run := e.create(t, "/api/v1/experiments/"+exp+"/runs", e.member, map[string]any{"name": "lr=" + lr, "params": map[string]string{"lr": lr, "epochs": "500"}})
		var pts []map[string]any
		for step := range 500 {
			loss := (1 + float64(i)) * math.Exp(-float64(step)/(60*float64(i+1)))
			pts = append(pts, map[string]any{"key": "loss", "value": loss, "step": step},
				map[string]any{"key": "accuracy", "value": 1 - loss/4, "step": step})
		}
		expect(t, e.do("POST", "/api/v1/runs/"+run+"/metrics", e.member, pts), 204)
	}
	b.open("/experiments/" + exp + "?key=loss")
	if n := b.count(`[data-testid=runs-table] tbody tr`); n != 3 {
		t.Fatalf("%d runs side by side, want 3", n)
	}
	if n := b.count(`[data-testid=chart] polyline`); n != 3 {
		t.Fatalf("%d curves on the chart, want 3", n)
	}
	points := get(b, "points", chromedp.Evaluate[int](`Math.max(...[...document.querySelectorAll("[data-testid=chart] polyline")].map(p => p.points.numberOfItems))`))
	if points < 2 || points > chartPoints {
		t.Fatalf("a curve has %d points, want the registry's downsampling to at most %d", points, chartPoints)
	}
	// Sorting by a metric's column, then the other way round.
	lossColumn := `(() => { const hs = [...document.querySelectorAll("[data-testid=runs-table] thead th")];
		const i = hs.findIndex(h => h.textContent.trim().startsWith("loss"));
		return [...document.querySelectorAll("[data-testid=runs-table] tbody tr")].map(r => Number(r.cells[i].textContent)); })()`
	sortLoss := func() []float64 {
		b.run("sort by loss", chromedp.Click(chromedp.CSS(`[data-testid=runs-table] thead th:last-child button`)))
		return get(b, "loss column", chromedp.Evaluate[[]float64](lossColumn))
	}
	if up := sortLoss(); len(up) != 3 || !(up[0] <= up[1] && up[1] <= up[2]) {
		t.Fatalf("sorted by loss ascending: %v", up)
	}
	if down := sortLoss(); len(down) != 3 || !(down[0] >= down[1] && down[1] >= down[2]) || down[0] == down[2] {
		t.Fatalf("sorted by loss descending: %v", down)
	}
	if got := get(b, "aria-sort", chromedp.Evaluate[string](`document.querySelector("[data-testid=runs-table] thead th:last-child").getAttribute("aria-sort")`)); got != "descending" {
		t.Fatalf("aria-sort %q", got)
	}
	b.noErrors("sorting")
	b.screenshot("04-experiment-runs")
	// Only two runs chosen: two curves.
	b.run("uncheck one run", chromedp.Click(chromedp.CSS(`[data-testid=runs-table] tbody tr:first-child input[type=checkbox]`)))
	b.submit("show curves", chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	if n := b.count(`[data-testid=chart] polyline`); n != 2 {
		t.Fatalf("%d curves after unchecking a run, want 2", n)
	}
	b.submit("open a run", chromedp.Click(chromedp.CSS(`[data-testid=runs-table] tbody tr:first-child a`)))
	b.noErrors("run page")
	if n := b.count(`[data-testid=chart]`); n != 2 {
		t.Fatalf("the run page draws %d charts, want one per metric (2)", n)
	}

	// Training: a job whose progress the page follows, then the new version.
	b.open("/meta-models")
	if b.count(`[data-testid=empty]`) != 1 {
		t.Fatal("no empty state before the first training")
	}
	train := func(version int) {
		t.Helper()
		if st := b.submit("train", chromedp.Click(chromedp.CSS(`[data-testid=train]`))); st != 200 || b.count(`[data-testid=job-progress]`) != 1 {
			t.Fatalf("training led to a %d page without the job's progress: %s", st, b.text("main"))
		}
		b.waitFor("training", fmt.Sprintf(`location.search === "?trained=%d" && document.readyState === "complete"`, version))
		b.noErrors("training")
		if got := b.text(`[data-testid=train-status]`); !strings.Contains(got, fmt.Sprintf("Version %d", version)) {
			t.Fatalf("train status %q", got)
		}
	}
	train(1)
	if b.count(`[data-testid=active-model]`) != 1 || b.text(`[data-testid=cv-mae]`) == "" || b.text(`[data-testid=baseline-mae]`) == "" {
		t.Fatal("the active model with its CV figures against the baseline is missing")
	}
	if b.count(`[data-testid=pin-controls]`)+b.count(`[data-testid=pin-1]`) != 0 {
		t.Error("a member sees the pin and rollback controls")
	}
	b.screenshot("05-meta-model")
	train(2)

	// Artifacts: the page of one with its usages and impact; a member
	// uploads its content and sees the upload's progress.
	artifact := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "churn-features", "type": "feature_pipeline",
		"version": "2.1.0", "description": "Tenure and usage features", "tags": []string{"churn"}})
	expect(t, e.do("POST", "/api/v1/artifacts/"+artifact+"/usages", e.member, map[string]any{"project_id": projectID, "impact_score": 72.5, "context": "baseline features"}), 201)
	upload := filepath.Join(t.TempDir(), "features.bin")
	if err := os.WriteFile(upload, make([]byte, 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	b.open("/artifacts")
	b.submit("open the artifact", chromedp.Click(chromedp.CSS(`[data-testid=artifacts-table] a`)))
	b.noErrors("artifact page")
	if got := b.text(`[data-testid=usages] tbody tr`); !strings.Contains(got, "Churn model") || !strings.Contains(got, "72.5") {
		t.Fatalf("the usage row reads %q, want the project and its impact", got)
	}
	if got := b.text(`[data-testid=mean-impact]`); got != "72.5" {
		t.Fatalf("mean impact %q", got)
	}
	b.run("upload", chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload}),
		chromedp.Click(chromedp.CSS(`[data-testid=upload-submit]`)))
	b.waitFor("upload", `document.querySelector("[data-testid=download]") !== null && document.readyState === "complete"`)
	b.noErrors("upload")
	if got := b.text(`[data-testid=artifact-content]`); !strings.Contains(got, "3.0 MiB") {
		t.Fatalf("after the upload the content reads %q", got)
	}
	if r := e.do("GET", "/api/v1/artifacts/"+artifact, e.member, nil); !strings.Contains(string(r.body), `"size_bytes":3145728`) {
		t.Fatalf("the upload was not stored: %s", r.body)
	}
	b.screenshot("10-artifact")

	// A recommendation: score, interval, factors, team what-if.
	b.open("/recommend")
	b.run("recommend",
		chromedp.SetValue(chromedp.CSS("#problem_class"), "classification"),
		chromedp.SetValue(chromedp.CSS("#complexity_score"), "3"),
		chromedp.SetValue(chromedp.CSS("#team_size"), "4"),
		chromedp.SendKeys(chromedp.CSS("#team"), "ml_engineer:senior\ndata_scientist:mid"),
		chromedp.SendKeys(chromedp.CSS("#description"), "customer churn prediction"))
	if st := b.submit("recommend", chromedp.Click(chromedp.CSS(`[data-testid=recommend]`))); st != 200 {
		t.Fatalf("the recommendation led to a %d page: %s", st, b.text("main"))
	}
	b.noErrors("recommendation")
	var score float64
	if _, err := fmt.Sscan(b.text(`[data-testid=predicted-score]`), &score); err != nil || score < 0 || score > 100 {
		t.Fatalf("predicted score %q", b.text(`[data-testid=predicted-score]`))
	}
	if got := b.text(`[data-testid=interval]`); !strings.Contains(got, "interval") {
		t.Fatalf("interval %q", got)
	}
	if b.count(`[data-testid=team-whatif] tbody tr`) == 0 {
		t.Fatal("no team-size what-if")
	}
	b.screenshot("06-recommendation")

	// Predict and store for the project: the prediction is listed.
	b.open("/projects/" + projectID)
	b.submit("predict", chromedp.Click(chromedp.CSS(`[data-testid=predict]`)))
	if n := b.count(`[data-testid=predictions-table] tbody tr`); n != 1 {
		t.Fatalf("%d stored predictions, want 1", n)
	}
	b.screenshot("03-project")
	b.open("/projects/" + projectID) // the page once more, for the console check
	b.open("/projects")
	b.screenshot("02-projects")

	// Phone width: nothing wider than the screen.
	b.run("phone", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/", "/projects", "/projects/" + projectID, "/experiments/" + exp, "/meta-models", "/artifacts/" + artifact} {
		b.open(p)
		overflow := get(b, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if overflow {
			t.Errorf("%s is wider than a phone's screen", p)
		}
	}
	b.screenshot("07-phone")
	b.run("laptop", chromedp.EmulateViewport(1280, 900))
	b.signOut()

	// A viewer: no write controls, and a forged write is refused.
	b.signIn("victor", memberPassword, "")
	b.open("/projects")
	if b.count(`[data-testid=new-project]`) != 0 {
		t.Error("a viewer sees the New project button")
	}
	b.open("/projects/" + projectID)
	if b.count(`[data-testid=edit-project]`)+b.count(`[data-testid=predict]`)+b.count(`main form[method=post]`) != 0 {
		t.Error("a viewer sees write controls on a project")
	}
	b.open("/meta-models")
	if b.count(`[data-testid=train]`)+b.count(`[data-testid=pin-controls]`)+b.count(`[data-testid=pin-1]`)+b.count(`main form[method=post]`) != 0 {
		t.Error("a viewer sees the train, pin or rollback controls")
	}
	b.open("/artifacts/" + artifact)
	if b.count(`[data-testid=upload]`) != 0 || b.count(`[data-testid=download]`) != 1 {
		t.Error("a viewer sees the upload form, or no download link")
	}
	// The viewer's own session token, in a form posted to a member's page.
	st := b.submit("forge a write", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "/projects";
		for (const [k, v] of [["csrf", document.querySelector("input[name=csrf]").value], ["name", "by a viewer"],
			["problem_class", "nlp"], ["complexity_score", "3"], ["team_size", "2"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit(); })()`))
	if got := b.text("h1"); st != 403 || got != "Not allowed" {
		t.Fatalf("a viewer's forged write shows %q, want the 403 page", got)
	}
	b.consoleErrors() // the 403 itself is logged by the browser as a failed load
	if len(items[map[string]any](t, e.do("GET", "/api/v1/projects?q=by+a+viewer", e.member, nil))) != 0 {
		t.Fatal("the viewer's write was stored")
	}

	// Another tenant's ids show nothing but the 404 page.
	for _, p := range []string{"/projects/" + betaProject, "/experiments/" + betaExp} {
		st := b.submit("open "+p, chromedp.Navigate(b.base+p))
		if got := b.text("h1"); st != 404 || got != "Not found" {
			t.Errorf("%s as another tenant's user: %q, want the 404 page", p, got)
		}
		body := get(b, "body", chromedp.Text(chromedp.CSS("main")))
		if strings.Contains(body, "Beta secret") || strings.Contains(body, "beta-exp") {
			t.Errorf("%s shows another tenant's data", p)
		}
		b.consoleErrors() // a 404 document is logged as a failed load
	}
	b.screenshot("09-not-found")
	b.signOut()

	// A user of two tenants chooses one, then switches to the other from
	// the header without signing out.
	b.signIn("erin", memberPassword, "beta")
	if got := b.text(`[data-testid=current-tenant]`); !strings.Contains(got, "beta") {
		t.Fatalf("erin is in %q, want beta", got)
	}
	b.run("phone", chromedp.EmulateViewport(390, 844))
	if get(b, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
		t.Error("the header with the tenant switch is wider than a phone's screen")
	}
	b.run("laptop", chromedp.EmulateViewport(1280, 900))
	b.run("choose the other tenant", chromedp.SetValue(chromedp.CSS("#switch-tenant"), "default"))
	if st := b.submit("switch tenant", chromedp.Click(chromedp.CSS(`[data-testid=tenant-switch] button`))); st != 200 {
		t.Fatalf("the tenant switch led to a %d page", st)
	}
	b.noErrors("tenant switch")
	if got := b.text(`[data-testid=current-tenant]`); !strings.Contains(got, "Default") || !strings.Contains(got, "viewer") {
		t.Fatalf("after the switch erin is in %q, want Default as a viewer", got)
	}
	b.submit("open beta's project", chromedp.Navigate(b.base+"/projects/"+betaProject))
	if got := b.text("h1"); got != "Not found" { // beta's data is out of reach now
		t.Fatalf("after the switch beta's project shows %q", got)
	}
	b.consoleErrors()
	b.signOut()

	// The administrator: members and an API key shown once.
	b.signIn("admin", testAdminPassword, "")
	b.open("/admin")
	if n := b.count(`[data-testid=members] tbody tr`); n < 4 {
		t.Fatalf("%d members listed", n)
	}
	if n := b.count(`[data-testid=quota] tbody tr`); n != 5 {
		t.Fatalf("%d quota rows, want 5", n)
	}
	if got := b.text(`[data-testid=quota] tbody tr:nth-child(3)`); !strings.Contains(got, "Artifacts") || !strings.Contains(got, "10000") {
		t.Fatalf("the artifacts quota row reads %q", got)
	}
	b.screenshot("08-admin")

	// Meta-model versions: the admin rolls back, unpins and pins.
	b.open("/meta-models")
	active := func() string { return b.text(`[data-testid=models-table] tr[aria-current] td:first-child`) }
	if got := active(); !strings.HasPrefix(got, "v2") {
		t.Fatalf("active before the rollback: %q", got)
	}
	b.submit("roll back", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), chromedp.Click(chromedp.CSS(`[data-testid=rollback]`)))
	b.noErrors("rollback")
	if got := active(); !strings.HasPrefix(got, "v1") || !strings.Contains(got, "pinned") {
		t.Fatalf("active after the rollback: %q", got)
	}
	b.screenshot("11-meta-model-versions")
	b.submit("unpin", chromedp.Click(chromedp.CSS(`[data-testid=unpin]`)))
	if got := active(); !strings.HasPrefix(got, "v2") || b.count(`[data-testid=unpin]`) != 0 {
		t.Fatalf("active after unpinning: %q", got)
	}
	b.submit("pin v1", chromedp.Click(chromedp.CSS(`[data-testid=pin-1]`)))
	if got := active(); !strings.HasPrefix(got, "v1") {
		t.Fatalf("active after pinning v1: %q", got)
	}
	b.noErrors("pinning")
	b.open("/account")
	b.run("create a key", chromedp.SendKeys(chromedp.CSS("#key-name"), "ci"),
		chromedp.SetValue(chromedp.CSS("#key-role"), "viewer"),
		chromedp.SendKeys(chromedp.CSS("#key-password"), testAdminPassword))
	b.submit("create the key", chromedp.Click(chromedp.CSS(`[data-testid=create-key]`)))
	key := get(b, "key", chromedp.Value(chromedp.CSS("#new-key-value")))
	if !strings.HasPrefix(key, "mst_") {
		t.Fatalf("the new key is %q", key)
	}
	if r := e.do("GET", "/api/v1/projects", key, nil); r.status != 200 {
		t.Fatalf("the key shown does not work: %d", r.status)
	}
	b.open("/account")
	html := get(b, "html", chromedp.OuterHTML(chromedp.CSS("html")))
	if strings.Contains(html, key) {
		t.Fatal("the API key is shown a second time")
	}
	cookies := get(b, "cookies", chromedp.Evaluate[string](`document.cookie`))
	if cookies != "" {
		t.Fatalf("scripts can read cookies: %q", cookies)
	}
	b.open("/artifacts")
	b.open("/models")
	b.noErrors("last pages")
}
