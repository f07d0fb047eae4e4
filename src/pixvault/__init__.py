"""pixvault: self-hosted image hosting, management and delivery."""

__version__ = "0.1.0"
