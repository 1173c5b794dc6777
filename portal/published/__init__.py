"""What the public sees of published documents (their answers, and the comparison of
providers), shared by the public site, the open-data API and the search index."""
