"""Development mode only (APP_ENV=development): a stand-in main app that interactions are
forwarded to, and a console that fires interactions through the embedded Discord simulator.
Nothing here is registered when APP_ENV is production."""
