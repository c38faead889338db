package web

import (
	"fmt"
	"maps"
	"slices"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

type appsPage struct {
	Apps       []portal.App
	List       listPage
	QueryError string
}

func (c *Console) listApps(ec echo.Context) error {
	var p appsPage
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p.QueryError = queryError
	page, err := c.store.Apps(ec.Request().Context(), opt)
	if err != nil {
		return err
	}
	p.Apps = page.Items
	p.List = paging("/admin/apps", opt, page.Total, len(page.Items))
	return c.page(ec, listCode(p.QueryError), "apps", "Apps", "apps", p)
}

type rule struct {
	Name, Value string
}

type policyRow struct {
	Policy portal.Policy
	Rules  []rule
}

type policiesPage struct {
	Policies   []policyRow
	List       listPage
	QueryError string
}

func (c *Console) listPolicies(ec echo.Context) error {
	var p policiesPage
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p.QueryError = queryError
	page, err := c.store.Policies(ec.Request().Context(), opt)
	if err != nil {
		return err
	}
	for _, pol := range page.Items {
		r := policyRow{Policy: pol}
		for _, name := range slices.Sorted(maps.Keys(pol.Rules)) {
			r.Rules = append(r.Rules, rule{Name: name, Value: fmt.Sprint(pol.Rules[name])})
		}
		p.Policies = append(p.Policies, r)
	}
	p.List = paging("/admin/policies", opt, page.Total, len(page.Items))
	return c.page(ec, listCode(p.QueryError), "policies", "Policies", "policies", p)
}
