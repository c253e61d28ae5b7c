"""Bridge web app: server-rendered pages for HR and participants."""
