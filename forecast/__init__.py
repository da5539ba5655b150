"""forecast: when do large language models run out of human-written text?"""

__version__ = "0.1.0"
