"""`vigil server`: the HTTP shell of the client/server mode. app.py: the API; state.py: what it holds."""
