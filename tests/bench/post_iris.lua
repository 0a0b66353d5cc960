-- post_iris.lua — the wrk script of tests/bench/http_run.sh: every request POSTs one iris
-- instance as JSON to the URL's path (/v1/predict); keep-alive, no pipelining.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [[5.1,3.5,1.4,0.2]]}'
