package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"provportal/portal"
)

// queueSMS stores a provisioning message for user through the store's own
// invitation path, as the admin API does.
func queueSMS(t *testing.T, env *consoleEnv, userID, to, body string) portal.SMSMessage {
	t.Helper()
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	inv := portal.Invitation{UserID: userID, ExpiresAt: time.Now().Add(time.Hour)}
	msg := portal.SMSMessage{To: to, Body: body}
	if err := env.Store.CreateInvitation(ctx, &inv, "hash-"+to+body, &msg); err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestSMSAndAuditEmptyStatesSayWhatToDo(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.signIn("help") // read-only pages: the helpdesk sees them too
	b.get("/admin").want(t, http.StatusOK).
		wantText(t, `<a href="/admin/sms">SMS</a>`, `<a href="/admin/audit">Audit log</a>`)
	b.get("/admin/sms").want(t, http.StatusOK).
		wantText(t, "<h1>SMS</h1>", `aria-current="page">SMS`, "No messages yet: send provisioning messages from the", `href="/admin/provisioning"`).
		wantNoText(t, "<table")
	b.get("/admin/sms?status=failed").want(t, http.StatusOK).wantText(t, "No message has the status Failed.", `value="failed" selected`)
	b.get("/admin/sms?status=bogus").want(t, http.StatusUnprocessableEntity).
		wantText(t, "There is no message status “bogus”", `aria-invalid="true"`)
	// The console's own administrators are in the log from the start, so
	// the empty log is the page rendered with no entries.
	b.get("/admin/audit").want(t, http.StatusOK).wantText(t, "<h1>Audit log</h1>", `aria-current="page">Audit log`)
	body, err := env.Console.pages.render("audit", &view{Title: "Audit log", Section: "audit",
		Admin: &portal.Admin{Username: "help", Role: portal.RoleHelpdesk}, Page: auditPage{List: paging("/admin/audit", portal.ListOptions{Limit: 20}, 0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	(&page{Body: string(body)}).wantText(t, "<h1>Audit log</h1>", "No entries yet: every change made in this console").wantNoText(t, "<table")
	b.get("/admin/audit?actor=nobody").want(t, http.StatusOK).wantText(t, "No entry matches this search.", `value="nobody"`)
	b.get("/admin/audit?offset=-1").want(t, http.StatusUnprocessableEntity).wantText(t, "Must be a whole number")
}

func TestSMSAndAuditNeedASession(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	for _, path := range []string{"/admin/sms", "/admin/audit"} {
		if p := b.get(path); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/admin/login") {
			t.Errorf("GET %s without a session: %d to %q, want a redirect to the sign-in page", path, p.Status, p.Header.Get("Location"))
		}
	}
}

func TestSMSPageListsNewestFirstAndFiltersByStatus(t *testing.T) {
	env := newConsole(t)
	alice := addUser(t, env, "alice")
	first := queueSMS(t, env, alice.ID, "+14155550101", "first message")
	queueSMS(t, env, alice.ID, "+14155550102", "second message")
	long := "https://portal.example.com/p/" + strings.Repeat("x9", 60)
	queueSMS(t, env, alice.ID, "+14155550103", "third message "+long)

	// The oldest is tried and fails.
	ctx := context.Background()
	claimed, err := env.Store.Claim(ctx, time.Now().Add(time.Minute), 1, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].ID != first.ID {
		t.Fatalf("claim: %+v, %v; want the first message", claimed, err)
	}
	if err := env.Store.MarkFailed(ctx, first.ID, "30007", "Carrier violation", false); err != nil {
		t.Fatal(err)
	}

	b := env.browser()
	b.signIn("help")
	p := b.get("/admin/sms").want(t, http.StatusOK).
		wantText(t, "3 messages, newest first; showing 1–3", "+14155550101", "+14155550102", "+14155550103", "alice",
			"Queued", "Failed", "<code>30007</code> Carrier violation", `data-label="Attempts" class="num">1<`, long,
			`<select id="f-status" name="status">`, `value="" selected`, "just now", " UTC")
	i, j, k := strings.Index(p.Body, "third message"), strings.Index(p.Body, "second message"), strings.Index(p.Body, "first message")
	if i < 0 || i > j || j > k {
		t.Errorf("the outbox is not newest first: third at %d, second at %d, first at %d", i, j, k)
	}
	b.get("/admin/sms?status=failed").want(t, http.StatusOK).
		wantText(t, "1 message with status Failed", "first message", "Carrier violation", `value="failed" selected`, "Show all").
		wantNoText(t, "second message", "third message")
	b.get("/admin/sms?status=queued").want(t, http.StatusOK).
		wantText(t, "2 messages with status Queued", "second message", "third message").
		wantNoText(t, "first message", "Carrier violation")
}

func TestSMSPagingKeepsTheStatusFilter(t *testing.T) {
	env := newConsole(t)
	alice := addUser(t, env, "alice")
	for i := range 22 {
		queueSMS(t, env, alice.ID, fmt.Sprintf("+1415555%04d", i), fmt.Sprintf("message-%02d", i))
	}
	b := env.browser()
	b.signIn("root")
	b.get("/admin/sms?status=queued").want(t, http.StatusOK).
		wantText(t, "22 messages with status Queued, newest first; showing 1–20", "message-21", "Page 1 of 2",
			`href="/admin/sms?offset=20&amp;status=queued"`).
		wantNoText(t, "message-01")
	b.get("/admin/sms?status=queued&offset=20").want(t, http.StatusOK).
		wantText(t, "showing 21–22", "message-00", "message-01", "Previous").wantNoText(t, "message-21")
}

func TestAuditPageShowsTheConsolesChangesAndFilters(t *testing.T) {
	env := newConsole(t)
	addUser(t, env, "seeded") // by "test", through the store
	b := env.browser()
	tok := b.signIn("root")
	b.post("/admin/groups", url.Values{"csrf_token": {tok}, "name": {"Sales"}, "description": {"Field team"}}).
		wantRedirect(t, "/admin/groups")
	groups, err := env.Store.Groups(context.Background(), portal.ListOptions{})
	if err != nil || len(groups.Items) != 1 {
		t.Fatalf("groups: %+v, %v", groups, err)
	}
	g := groups.Items[0]
	b.post("/admin/groups/"+g.ID, url.Values{"csrf_token": {tok}, "name": {"Sales EMEA"}, "description": {"Field team"}}).
		wantRedirect(t, "/admin/groups")

	p := b.get("/admin/audit").want(t, http.StatusOK).
		wantText(t, "5 entries, newest first; showing 1–5", "<th scope=\"col\">Time (UTC)</th>", " UTC</time>",
			`data-label="Actor">root<`, `data-label="Actor">test<`, `data-label="Remote address">127.0.0.1<`,
			`data-label="Action">create<`, `data-label="Action">update<`, `data-label="Kind">group<`, `data-label="Kind">user<`, g.ID,
			`<details class="json"><summary>Before</summary><pre>`, `<details class="json"><summary>After</summary><pre>`,
			`"name": "Sales EMEA"`, `"name": "Sales"`,
			`<label for="f-kind">Kind</label>`, `<label for="f-actor">Actor</label>`, `<label for="f-object_id">Object ID</label>`)
	// Newest first: the update, the group's create, the seeded user, then the two administrators.
	var got []string
	for _, m := range auditRowRE.FindAllStringSubmatch(p.Body, -1) {
		got = append(got, m[1]+" "+m[2])
	}
	if want := []string{"update group", "create group", "create user", "create admin", "create admin"}; !slices.Equal(got, want) {
		t.Errorf("the audit log's rows are %q, want %q", got, want)
	}

	b.get("/admin/audit?actor=ROOT").want(t, http.StatusOK).
		wantText(t, "2 entries match", `data-label="Actor">root<`, `value="ROOT"`, `href="/admin/audit">Clear`).
		wantNoText(t, `data-label="Actor">test<`)
	b.get("/admin/audit?kind=user").want(t, http.StatusOK).
		wantText(t, "1 entry matches", `data-label="Kind">user<`, `"username": "seeded"`).wantNoText(t, `data-label="Kind">group<`)
	b.get("/admin/audit?object_id="+g.ID+"&kind=group&actor=root").want(t, http.StatusOK).
		wantText(t, "2 entries match", `data-label="Action">create<`, `data-label="Action">update<`).
		wantNoText(t, `data-label="Kind">user<`)
}

var auditRowRE = regexp.MustCompile(`data-label="Action">([^<]+)</td>\s*<td data-label="Kind">([^<]+)<`)

func TestAuditPagingKeepsTheSearch(t *testing.T) {
	env := newConsole(t)
	for i := range 22 {
		addUser(t, env, fmt.Sprintf("user%02d", i))
	}
	addDevice(t, env, addUser(t, env, "other").ID, "laptop", "installing", 10, nil)
	b := env.browser()
	b.signIn("help")
	b.get("/admin/audit?kind=user&actor=test").want(t, http.StatusOK).
		wantText(t, "23 entries match, newest first; showing 1–20", "Page 1 of 2",
			`href="/admin/audit?actor=test&amp;kind=user&amp;offset=20"`)
	b.get("/admin/audit?kind=user&actor=test&offset=20").want(t, http.StatusOK).
		wantText(t, "showing 21–23", "Previous", `"username": "user00"`).wantNoText(t, `"username": "user21"`)
}

func TestIndentJSON(t *testing.T) {
	for in, want := range map[string]string{"": "", "null": "", `{"a":1}`: "{\n  \"a\": 1\n}", "not json": "not json"} {
		if got := indentJSON([]byte(in)); got != want {
			t.Errorf("indentJSON(%q) = %q, want %q", in, got, want)
		}
	}
}
