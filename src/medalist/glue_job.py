"""The Glue job script (compute: glue): one state of one run, on the job's driver.

Glue passes job arguments as `--name value`; the state machine sends `--run_id` and `--state`,
the batch machine `--run_ids` (comma-separated: a whole batch of small files in one job run).
A failed job run reaches Step Functions only as States.TaskFailed, so the state's own retry
policy applies here, in-process, as in `medalist run` (decision 0023).
"""

from __future__ import annotations

import sys

from medalist import serverless


def arguments(argv: list[str]) -> dict[str, str]:
    found, items = {}, iter(argv)
    for item in items:
        if item.startswith("--"):
            found[item[2:]] = next(items, "")
    return found


def main(argv: list[str] | None = None) -> None:
    from medalist.aws_handlers import _loaded

    args = arguments(sys.argv[1:] if argv is None else argv)
    pipeline, ports = _loaded()
    if args.get("run_ids"):
        serverless.run_batch(pipeline, ports, args["run_ids"].split(","))
        return
    serverless.run_state(pipeline, ports, args["run_id"], args["state"], retry=True)


if __name__ == "__main__":
    main()
