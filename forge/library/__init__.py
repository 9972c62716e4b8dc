"""The workspace's library: saved prompts, context blocks and datasets."""
