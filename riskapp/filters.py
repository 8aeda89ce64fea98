"""Market risk filter sets, shared by the browser list views and the API."""
