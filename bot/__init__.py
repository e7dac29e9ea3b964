"""The Slack surface: slash command, App Home, alerts' Slack side, the HTTP server.

``bot.slack_app.create_app`` composes the Bolt app from the modules' ``register`` functions;
``bot.server.serve`` serves it. Nothing is imported here, so ``bot.publish`` (all the
command line needs to post alerts) can be loaded without Bolt or Starlette.
"""
