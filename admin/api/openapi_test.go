package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/organizer"
	"provportal/portal/web"
)

const apiPrefix = "/api/v1"

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapiDoc)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	return doc
}

// registeredRoutes maps "METHOD /path" (relative to /api/v1, echo's :param
// written as {param}) to the route as echo has it, for every route Register mounts.
func registeredRoutes(t *testing.T) map[string]string {
	t.Helper()
	e := echo.New()
	// Registration only: no handler runs, so no store, blobs or tokens are needed.
	New(Config{}).Register(e.Group(apiPrefix))
	routes := map[string]string{}
	for _, r := range e.Routes() {
		if !isHTTPMethod(r.Method) {
			continue // echo's own catch-all routes, e.g. "echo_route_not_found"
		}
		p, ok := strings.CutPrefix(r.Path, apiPrefix)
		if !ok {
			continue
		}
		routes[r.Method+" "+openAPIPath(p)] = r.Method + " " + r.Path
	}
	if len(routes) == 0 {
		t.Fatal("Register mounted no routes under " + apiPrefix)
	}
	return routes
}

func isHTTPMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return true
	}
	return false
}

// openAPIPath turns echo's /apps/:id/artifacts/:platform into /apps/{id}/artifacts/{platform}.
func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			segs[i] = "{" + name + "}"
		}
	}
	return strings.Join(segs, "/")
}

// documentedOperations returns "METHOD /path" for every operation in doc.
func documentedOperations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPICoversEveryRoute keeps the document and the router in step both
// ways: every registered route is documented, and every documented operation
// is registered.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := registeredRoutes(t)
	ops := documentedOperations(doc)
	for _, r := range sortedKeys(routes) {
		if ops[r] == nil {
			t.Errorf("route %s is registered but openapi.json does not describe %s", routes[r], r)
		}
	}
	for _, op := range sortedKeys(ops) {
		if routes[op] == "" {
			t.Errorf("openapi.json describes %s, which Register does not mount", op)
		}
	}
}

// TestOpenAPIDocumentValid checks the document is valid OpenAPI 3.
func TestOpenAPIDocumentValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != apiPrefix {
		t.Errorf("servers must be [{url: %q}], so paths stay relative", apiPrefix)
	}
	if doc.Components == nil || doc.Components.SecuritySchemes["bearerAuth"] == nil {
		t.Fatal("components.securitySchemes.bearerAuth is missing")
	}
	if len(doc.Security) == 0 {
		t.Error("bearerAuth must apply globally")
	}
}

// TestOpenAPIOperations checks each operation's identity and responses.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]string{}
	for _, key := range sortedKeys(documentedOperations(doc)) {
		op := documentedOperations(doc)[key]
		if op.OperationID == "" {
			t.Errorf("%s has no operationId", key)
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s and %s share operationId %q", other, key, op.OperationID)
		} else {
			ids[op.OperationID] = key
		}
		if op.Summary == "" || len(op.Tags) == 0 {
			t.Errorf("%s needs a summary and a tag", key)
		}
		if op.Responses == nil {
			t.Errorf("%s documents no responses", key)
			continue
		}
		has2xx := false
		for code := range op.Responses.Map() {
			if len(code) == 3 && code[0] == '2' {
				has2xx = true
			}
		}
		if !has2xx {
			t.Errorf("%s documents no 2xx response", key)
		}
		if strings.Contains(key, "{id}") && op.Responses.Value("404") == nil {
			t.Errorf("%s takes a path {id} but documents no 404", key)
		}
		// Everything but logging on, this document and Twilio's signed status
		// callback needs a token, so may answer 401.
		public := key == "POST /auth/login" || key == "GET /openapi.json" || key == "POST /sms/status"
		if public != (op.Security != nil && len(*op.Security) == 0) {
			t.Errorf("%s: security: [] must be set exactly on the public operations", key)
		}
		if !public && op.Responses.Value("401") == nil {
			t.Errorf("%s needs a token but documents no 401", key)
		}
	}
	login := doc.Paths.Value("/auth/login").Post
	if r := login.Responses.Value("429"); r == nil || r.Value == nil || r.Value.Headers["Retry-After"] == nil {
		t.Error("POST /auth/login must document 429 with a Retry-After header")
	}
}

// TestOpenAPIMatchesCatalogues checks the schemas that mirror Go tables:
// the policy rules and the platforms.
func TestOpenAPIMatchesCatalogues(t *testing.T) {
	schema := openAPISchemas(t)

	rules := schema("Rules")
	var names []string
	for _, spec := range portal.RuleCatalogue {
		names = append(names, spec.Name)
		ref := rules.Properties[spec.Name]
		if ref == nil || ref.Value == nil {
			t.Errorf("Rules does not describe rule %s", spec.Name)
			continue
		}
		p := ref.Value
		want := map[portal.RuleType]string{portal.RuleBool: "boolean", portal.RuleInt: "integer", portal.RuleVersion: "string", portal.RuleList: "array"}[spec.Type]
		if !p.Type.Is(want) {
			t.Errorf("Rules.%s has type %v, want %s", spec.Name, p.Type, want)
		}
		if spec.Type == portal.RuleInt {
			if p.Min == nil || *p.Min != float64(spec.Min) || p.Max == nil || *p.Max != float64(spec.Max) {
				t.Errorf("Rules.%s must range from %d to %d", spec.Name, spec.Min, spec.Max)
			}
		}
		if spec.Type == portal.RuleList {
			item := p.Items.Value
			if len(item.Properties) != len(spec.Items) {
				t.Errorf("Rules.%s items have %d fields, want the catalogue's %d", spec.Name, len(item.Properties), len(spec.Items))
			}
			for _, f := range spec.Items {
				if item.Properties[f.Name] == nil {
					t.Errorf("Rules.%s items do not describe field %s", spec.Name, f.Name)
				}
				if f.Required != slices.Contains(item.Required, f.Name) {
					t.Errorf("Rules.%s items: field %s required = %v in the catalogue", spec.Name, f.Name, f.Required)
				}
			}
		}
	}
	for name := range rules.Properties {
		if !slices.Contains(names, name) {
			t.Errorf("Rules describes %s, which is not in portal.RuleCatalogue", name)
		}
	}

	var platforms []any
	for _, p := range portal.Platforms {
		platforms = append(platforms, string(p))
	}
	if got := schema("Platform").Enum; !slices.Equal(got, platforms) {
		t.Errorf("Platform enum = %v, want portal.Platforms %v", got, platforms)
	}
	var artifactPlatforms []any
	for _, p := range portal.ArtifactPlatforms {
		artifactPlatforms = append(artifactPlatforms, string(p))
	}
	if got := schema("ArtifactPlatform").Enum; !slices.Equal(got, artifactPlatforms) {
		t.Errorf("ArtifactPlatform enum = %v, want portal.ArtifactPlatforms %v", got, artifactPlatforms)
	}
}

// TestOpenAPIServed checks GET /api/v1/openapi.json answers the embedded document without a token.
func TestOpenAPIServed(t *testing.T) {
	e := echo.New()
	New(Config{}).Register(e.Group(apiPrefix))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, apiPrefix+"/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v["openapi"] != "3.0.3" {
		t.Errorf("GET /openapi.json did not answer the OpenAPI document (err %v)", err)
	}
}

// TestOpenAPISchemasMatchTypes checks the schemas against the Go types behind
// them: responses as the handlers encode them, and requests' fields as the
// handlers decode them (unknown fields are refused, so the sets must match).
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	schema := openAPISchemas(t)

	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	admin := portal.Admin{ID: "a1", Username: "alice", Role: portal.RoleAdmin, CreatedAt: now, UpdatedAt: now}
	user := portal.User{ID: "u1", Username: "bob", Email: "bob@example.com", Phone: "+14155550132", DisplayName: "Bob",
		HasPassword: true, Groups: []string{"g1"}, CreatedAt: now, UpdatedAt: now}
	app := portal.App{ID: "p1", Name: "Mail", Version: "1.0.0", Description: "d", CreatedAt: now, UpdatedAt: now,
		Artifacts: []portal.Artifact{{Platform: portal.Platforms[0], SHA256: strings.Repeat("ab", 32), Size: 10, Filename: "mail.tgz", UploadedAt: now}}}
	policy := portal.Policy{ID: "o1", Name: "Strict", CreatedAt: now, UpdatedAt: now,
		Rules: portal.Rules{"password_required": true, "password_min_length": int64(8), "min_os_version": "14"}}
	assignment := portal.Assignment{ID: "s1", AppID: "p1", GroupID: "g1", CreatedAt: now}
	device := portal.Device{ID: "d1", UserID: "u1", Name: "laptop", Platform: "linux-amd64", Status: "failed", Progress: 40,
		Error: &portal.DeviceError{Code: "disk_full", Message: "no space"}, Installed: map[string]string{"Mail": "1.0.0"},
		LastSeenAt: &now, CreatedAt: now, UpdatedAt: now}
	deviceNew := device
	deviceNew.Error, deviceNew.LastSeenAt = nil, nil
	entry := portal.AuditEntry{ID: 7, At: now, ActorID: "a1", Actor: "alice", RemoteAddr: "192.0.2.1", Action: "create",
		Kind: "user", ObjectID: "u1", Before: json.RawMessage("null"), After: json.RawMessage(`{"id":"u1"}`)}
	activation := portal.ActivationPassword{ID: "ap1", UserID: "u1", PRS: []byte("prs"), Salt: []byte("salt"), KDFParams: "argon2id",
		CreatedAt: now, ExpiresAt: now.Add(48 * time.Hour), Failures: 1}
	usedActivation := activation
	usedActivation.DeadAt, usedActivation.DeadReason = &now, portal.ActivationUsed
	event := portal.DeviceEvent{ID: 3, At: now, Stage: "verifying_encryption", Event: "key_accepted", Detail: map[string]any{}}
	failEvent := portal.DeviceEvent{ID: 4, At: now, Stage: "failed", Event: portal.FailKeyConfirmation,
		Detail: map[string]any{"message": "key confirmation failed"}}
	trouble, _ := portal.Troubleshoot(portal.FailKeyConfirmation)
	migration := portal.MigrationPackage{ID: "m1", Platform: "linux-amd64", Host: "portal.example.com", Port: 443,
		Legacy:    &packages.LegacyClient{Paths: []string{"/opt/oldmdm"}, Service: "oldmdm", Uninstall: "/opt/oldmdm/uninstall"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), Uses: 2, LastUsedAt: &now}
	revokedMigration := portal.MigrationPackage{ID: "m2", Platform: "windows-amd64", Alias: "acme", Relay: "https://relay.example.com",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), RevokedAt: &now}
	responses := []schemaCase{
		{"ActivationPassword", activationPasswordView{activation, activation.State(now)}},
		{"ActivationPassword", activationPasswordView{usedActivation, usedActivation.State(now)}},
		{"ActivationPasswordCreated", activationPasswordResponse{Password: "k7m2-9xqp-4hrw", ExpiresAt: now}},
		{"DeviceEvent", failEvent},
		{"Troubleshooting", trouble},
		{"TroubleshootingList", map[string]any{"items": portal.TroubleshootingCatalogue}},
		{"DeviceTimeline", map[string]any{"device_id": "d1", "status": "failed", "progress": 40,
			"items": []portal.DeviceEvent{event, failEvent}, "troubleshooting": trouble}},
		{"DeviceTimeline", map[string]any{"device_id": "d1", "status": "activating", "progress": 0, "items": []portal.DeviceEvent{}}},
		{"Error", web.ErrorBody{Error: web.ErrorDetail{Code: portal.CodeActivationIncorrect, Message: "m"}}},
		{"ServiceBookList", map[string]any{"items": portal.DefaultServiceBooks}},
		{"OrganizerImportResult", importResult{Added: 41, Replaced: 2, Refused: []refusedItem{
			{Index: 3, UID: "standup-42@example.com", Reason: "VEVENT at line 40: no DTSTART"},
			{Index: 7, Reason: "item at line 12: title or body is required"}}}},
		{"OrganizerImportResult", importResult{Refused: []refusedItem{}}},
		{"OrganizerRefusedItem", refusedItem{Index: 3, UID: "standup-42@example.com", Reason: "VEVENT at line 40: no DTSTART"}},
		{"OrganizerCounts", map[string]any{"counts": map[string]int{"calendar": 120, "contacts": 45, "options": 2}}},
		{"OrganizerCounts", map[string]any{"counts": map[string]int{}}},
		{"OrganizerDeleted", map[string]int{"deleted": 167}},
		{"ServiceBookTemplate", portal.DefaultServiceBooks[0]},
		{"Admin", admin},
		{"User", user},
		{"Group", portal.Group{ID: "g1", Name: "Sales", Members: 3, CreatedAt: now, UpdatedAt: now}},
		{"App", app},
		{"Artifact", app.Artifacts[0]},
		{"Policy", policy},
		{"Assignment", assignment},
		{"Device", device},
		{"Device", deviceNew},
		{"AuditEntry", entry},
		{"LoginResponse", auth.Session{Token: "t", ExpiresAt: now, Admin: &admin}},
		{"Error", web.ErrorBody{Error: web.ErrorDetail{Code: portal.CodeInvalid, Message: "m", Field: "f"}}},
		{"RuleList", map[string]any{"items": portal.RuleCatalogue}},
		{"AdminPage", portal.Page[portal.Admin]{Items: []portal.Admin{admin}, Total: 1, Limit: 50}},
		{"UserPage", portal.Page[portal.User]{Items: []portal.User{user}, Total: 1, Limit: 50}},
		{"AppPage", portal.Page[portal.App]{Items: []portal.App{app}, Total: 1, Limit: 50}},
		{"PolicyPage", portal.Page[portal.Policy]{Items: []portal.Policy{policy}, Total: 1, Limit: 50}},
		{"AssignmentPage", portal.Page[portal.Assignment]{Items: []portal.Assignment{assignment}, Total: 1, Limit: 50}},
		{"DevicePage", portal.Page[portal.Device]{Items: []portal.Device{device}, Total: 1, Limit: 50}},
		{"AuditPage", portal.Page[portal.AuditEntry]{Items: []portal.AuditEntry{entry}, Total: 1, Limit: 50}},
		{"MigrationPackage", migrationPackageView{migration, migration.State(now)}},
		{"MigrationPackage", migrationPackageView{revokedMigration, revokedMigration.State(now)}},
		{"MigrationPackagePage", portal.Page[migrationPackageView]{Items: []migrationPackageView{{migration, portal.InvitationActive}}, Total: 1, Limit: 50}},
	}
	checkResponses(t, schema, responses)

	requests := []schemaCase{
		{"LoginRequest", loginRequest{}},
		{"AdminCreate", adminRequest{}},
		{"UserCreate", userRequest{}},
		{"UserPatch", userRequest{}},
		{"GroupCreate", groupRequest{}},
		{"GroupPatch", groupRequest{}},
		{"AppCreate", appRequest{}},
		{"AppPatch", appRequest{}},
		{"PolicyCreate", policyRequest{}},
		{"PolicyPatch", policyRequest{}},
		{"AssignmentCreate", assignmentRequest{}},
		{"ActivationPasswordSet", activationPasswordRequest{}},
		{"MigrationPackageCreate", migrationPackageRequest{}},
		{"LegacyClient", packages.LegacyClient{}},
		{"OrganizerEvent", organizer.Event{}},
		{"OrganizerContact", organizer.Contact{}},
		{"OrganizerTask", organizer.Task{}},
		{"OrganizerMemo", organizer.Memo{}},
		{"OrganizerMessage", organizer.Message{}},
		{"OrganizerOption", organizer.Option{}},
	}
	checkRequests(t, schema, requests)
}

// openAPISchemas loads the embedded document and looks its component
// schemas up by name; a missing one fails the test.
func openAPISchemas(t *testing.T) func(name string) *openapi3.Schema {
	t.Helper()
	doc := loadOpenAPI(t)
	return func(name string) *openapi3.Schema {
		t.Helper()
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Fatalf("components.schemas.%s is missing", name)
		}
		return ref.Value
	}
}

// schemaCase is a value of a Go type behind the API and the schema that
// describes it.
type schemaCase struct {
	schema string
	value  any
}

// checkResponses checks each value, encoded as the handlers answer it,
// against its schema, and that the schema describes every field it has.
func checkResponses(t *testing.T, schema func(string) *openapi3.Schema, responses []schemaCase) {
	t.Helper()
	for _, r := range responses {
		data, err := json.Marshal(r.value)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		s := schema(r.schema)
		if err := s.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
			t.Errorf("%s as the API sends it does not match schema %s: %v", data, r.schema, err)
		}
		for field := range v.(map[string]any) {
			if s.Properties[field] == nil {
				t.Errorf("schema %s does not describe field %q", r.schema, field)
			}
		}
	}
}

// checkRequests checks that each request type accepts the fields its schema
// describes and no other, and that the schema refuses unknown fields as the
// API does.
func checkRequests(t *testing.T, schema func(string) *openapi3.Schema, requests []schemaCase) {
	t.Helper()
	for _, r := range requests {
		s := schema(r.schema)
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("schema %s must set additionalProperties: false; the API refuses unknown fields", r.schema)
		}
		fields := jsonFields(reflect.TypeOf(r.value))
		for _, f := range fields {
			if s.Properties[f] == nil {
				t.Errorf("schema %s does not describe field %q, which the API accepts", r.schema, f)
			}
		}
		for f := range s.Properties {
			if !slices.Contains(fields, f) {
				t.Errorf("schema %s describes field %q, which the API refuses", r.schema, f)
			}
		}
	}
}

func jsonFields(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
