from crpsmap.cli import app

app()
