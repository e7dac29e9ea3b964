"""What every layer may import: JSON type aliases, money and mrkdwn text. Imports nothing of
the project, so it sits below ``providers/`` and above nothing."""
