"""Side-by-side benchmark of this integration, the Deepgram SDK and a batch client.

`scripts/bench` runs it; `runner` drives the server and one worker process per
measurement, `harness` measures inside each worker, and each `client_*` module
is one way of getting a transcript.
"""
