"""Docker's LogEntry protobuf (see entry.proto); imported by logdriver.framing alone."""
