"""API methods: deployments, the deployment registry and the client endpoint (Kumulos protocol)."""
