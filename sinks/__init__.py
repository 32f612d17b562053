"""Sink adapters (Splunk HEC, Datadog, HTTP). They see plain records and never import logdriver."""
