async def test_welcome_page_served(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "Client Portal" in response.text
