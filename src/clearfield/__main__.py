from clearfield.cli import app

app(prog_name="clearfield")
