"""`distrosync serve`: the API on http://127.0.0.1:PORT over the embedded AWS, until Ctrl-C."""

from __future__ import annotations

from cli.local_session import start_runtime


def run_server(env_name: str, port: int, aws_port: int) -> int:
    from local.http_server import serve

    rt = start_runtime(env_name, mode="server", aws_port=aws_port)
    print(f"distrosync ({env_name}) serving the API on http://127.0.0.1:{port}  (embedded AWS on :{aws_port})")
    print(
        "  register a partner:  distrosync partners add --id wh-east --kind warehouse --scope location:DC-EAST --local"
    )
    print("  Ctrl-C to stop; state is in memory and goes with the process")
    try:
        serve(rt, host="127.0.0.1", port=port)
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        rt.stop()
    return 0
