"""Running a package: the request/reply client (`client`), the `serve` command (`cli`) and its
options (`config`), the start/ready/stop states (`lifecycle`), and logs, metrics and health
(`observe`)."""
