#!/bin/sh
echo I am executable in the repository
