"""The workbench: server-rendered pages in Chinese for bureau and partner staff who have no
system that can call the API. Signed-in people act through the same services as API clients."""
