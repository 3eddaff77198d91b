package mlflowapi

// searchLoggedModels answers MLflow 3's logged-models/search. This server
// stores no logged models (their endpoints are not served, so none can be
// created), so every valid search finds none. MLflow 3's client searches
// logged models before it reads a runs:/ URI's files, and falls back to
// the run's artifacts when it finds none; answering truthfully keeps
// runs:/ downloads working.
func searchLoggedModels(c *call) (any, error) {
	ids, err := c.args.strs("experiment_ids")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, missing("experiment_ids")
	}
	if _, err := c.maxResults(100); err != nil {
		return nil, err
	}
	if _, err := c.args.optional("filter"); err != nil {
		return nil, err
	}
	if _, err := c.args.optional("page_token"); err != nil {
		return nil, err
	}
	return map[string]any{"models": []any{}}, nil
}
