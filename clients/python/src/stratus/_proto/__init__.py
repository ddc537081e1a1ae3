"""Stubs generated from proto/stratus/v1 by generate_stubs.py. Do not edit.

Package `stratus.v1` of the API, for calls the high-level client does not
cover: `from stratus._proto import forecast_pb2, forecast_pb2_grpc`.
"""
