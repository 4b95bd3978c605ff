#!/usr/bin/env bash
# What `make run` serves, and how to get into the admin.
host=$1 port=$2
cat <<MSG

  VOD backend starting on http://$host:$port
    API docs      http://$host:$port/api/docs/
    Admin         http://$host:$port/admin/
    Health        http://$host:$port/health/ready
  Something to look at: make demo   (in another terminal: a staff account, viewers, clips)
  Create an admin user:  .venv/bin/python manage.py createsuperuser
  Ctrl-C stops the server and the worker.

MSG
