"""/contribute.json (resources.md §3)."""


def test_contribute_document_has_the_expected_keys(make_core_app):
    response = make_core_app().get("/v1/contribute.json")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.json
    assert set(body) >= {"name", "description", "repository", "participate", "bugs", "keywords"}
    assert body["name"] == "kinto"
