"""Serve the nightly flow on a cron schedule (Asia/Shanghai); needs a Prefect server."""

from __future__ import annotations

import argparse

from prefect.schedules import Cron

from flows.nightly import nightly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="hanlink.toml")
    parser.add_argument("--cron", default="0 2 * * *")
    args = parser.parse_args()
    nightly.serve(
        name="hanlink-nightly",
        schedules=[Cron(args.cron, timezone="Asia/Shanghai")],
        parameters={"config_path": args.config},
    )


if __name__ == "__main__":
    main()
