"""The website widget's static files and its demo page (`python -m bot.web`)."""
