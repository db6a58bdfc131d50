from darkfigure.cli.main import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "darkfigure" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error():
    assert main(["no-such-command"]) == 2
