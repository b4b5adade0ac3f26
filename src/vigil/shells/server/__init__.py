"""`vigil server`: the HTTP shell of the client/server mode (issue 8). app.py: the API; state.py: what it holds."""
