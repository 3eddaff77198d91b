module github.com/maestro-ml/maestro/bench/mlflow

go 1.26.8
