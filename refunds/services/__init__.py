"""Business rules of refund cases. Admin, API, portal and tasks call these."""
