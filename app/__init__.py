"""Practitioner payment-qualification scoring service (医保支付资格记分)."""
